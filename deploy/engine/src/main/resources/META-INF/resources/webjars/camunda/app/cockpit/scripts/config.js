// 宿事速办: Cockpit in Chinese (see ../../suban/language.js).
import {inZh, locales} from '../../suban/language.js';

export default {
  app: {vendor: '宿事速办', name: inZh('监控中心', 'Cockpit')},
  locales,
  // Its message points to /camunda-welcome, a static page in English only.
  disableWelcomeMessage: true
};
