// The taxonomy editor's tree: find leaves by name, code or keyword; open or close every category.
document.addEventListener("DOMContentLoaded", () => {
  const tree = document.querySelector(".tree");
  const search = document.getElementById("tree-search");
  if (!tree || !search) return;
  const count = document.getElementById("tree-count");
  const categories = tree.querySelectorAll("details.category");
  search.addEventListener("input", () => {
    const words = search.value.trim().toLowerCase();
    let found = 0;
    categories.forEach((category) => {
      let hits = 0;
      category.querySelectorAll("details.leaf").forEach((leaf) => {
        const hit = !words || (!leaf.classList.contains("new")
                               && leaf.dataset.search.toLowerCase().includes(words));
        leaf.hidden = !hit;
        hits += hit ? 1 : 0;
      });
      const own = !words || category.dataset.search.toLowerCase().includes(words);
      category.hidden = !own && hits === 0;
      category.open = Boolean(words) && hits > 0;
      found += words ? hits : 0;
    });
    count.textContent = words ? `找到 ${found} 个二级分类` : "";
  });
  document.querySelectorAll("[data-tree]").forEach((button) => {
    button.addEventListener("click", () => {
      categories.forEach((category) => { category.open = button.dataset.tree === "open"; });
    });
  });
});
