// 宿事速办: Tasklist in Chinese (see ../../suban/language.js); the shipped file's other
// settings are kept as they were.
import {inZh, locales} from '../../suban/language.js';

export default {
  app: {vendor: '宿事速办', name: inZh('任务清单', 'Tasklist')},
  locales,
  customScripts: ['scripts/appeal-columns'],
  // Its message points to /camunda-welcome, a static page in English only.
  disableWelcomeMessage: true,

  shortcuts: {
    claimTask: {
      key: 'ctrl+alt+c',
      description: inZh('认领当前选中的任务', 'claims the currently selected task')
    },
    focusFilter: {
      key: 'ctrl+shift+f',
      description: inZh('将焦点移到第一个筛选', 'set the focus to the first filter in the list')
    },
    focusList: {
      key: 'ctrl+alt+l',
      description: inZh('将焦点移到列表中的第一个任务', 'sets the focus to the first task in the list')
    },
    focusForm: {
      key: 'ctrl+alt+f',
      description: inZh('将焦点移到任务表单的第一个输入框', 'sets the focus to the first input field in a task form')
    },
    startProcess: {
      key: 'ctrl+alt+p',
      description: inZh('打开发起流程对话框', 'opens the start process modal dialog')
    }
  }
};
