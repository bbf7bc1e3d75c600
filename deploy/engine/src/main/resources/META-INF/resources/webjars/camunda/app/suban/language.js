/*
 * 宿事速办: the webapps speak Chinese to every browser, and English stays one click away.
 *
 * Each app takes the browser's first language when its config.js lists that language in
 * `locales.availableLocales`, and `fallbackLocale` otherwise. Listing only the chosen language
 * makes Chinese the default whatever the browser sends; the webapps have no language menu, so
 * this module adds a small switch that stores the other choice in the browser and reloads.
 * Each app's scripts/config.js imports it.
 */
const STORAGE_KEY = 'suban-language';

export const language =
  window.localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';

export const locales = {availableLocales: [language], fallbackLocale: language};

/** Picks the text of the chosen language: inZh('任务清单', 'Tasklist'). */
export function inZh(chinese, english) {
  return language === 'zh' ? chinese : english;
}

function addLanguageSwitch() {
  const other = language === 'zh' ? 'en' : 'zh';
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'suban-language-switch';
  button.lang = other === 'zh' ? 'zh-CN' : 'en';
  button.textContent = other === 'zh' ? '中文' : 'English';
  button.addEventListener('click', () => {
    window.localStorage.setItem(STORAGE_KEY, other);
    window.location.reload();
  });
  document.body.appendChild(button);
}

// index.html says lang="en" whatever the labels are; screen readers and fonts go by it.
document.documentElement.lang = inZh('zh-CN', 'en');
addLanguageSwitch();
