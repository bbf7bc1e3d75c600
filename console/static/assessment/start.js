// Starts the page's script without an inline <script> (the console's CSP allows none): the tag
// that loads this file names the page in data-page, and the bulletin's month in data-month.
(() => {
  const { page, month } = document.currentScript.dataset;
  if (page === "bulletin") Assessment.bulletin(JSON.parse(month));
  else Assessment.overview();
})();
