// 宿事速办: Welcome in Chinese (see ../../suban/language.js).
import {inZh, locales} from '../../suban/language.js';

export default {
  app: {vendor: '宿事速办', name: inZh('欢迎页', 'Welcome')},
  locales,
  // Its message points to /camunda-welcome, a static page in English only.
  disableWelcomeMessage: true
};
