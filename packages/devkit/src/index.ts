export { exportedNames } from './exported-names.js';
export {
  HUB_MAIN,
  HUB_V1,
  type HubRequest,
  type HubServer,
  type HubServerFile,
  type HubServerOptions,
  hubEtagOf,
  startHubServer,
} from './hub-server.js';
export { checkReadme, runReadmeSnippets, type SnippetRun } from './readme-snippet.js';
export { reportJson } from './report-json.js';
export { rng } from './rng.js';
export { scriptArgs } from './script-args.js';
export {
  type ChildResult,
  makeSpecialFiles,
  runModuleInChild,
  SPECIAL_FILE_WORDS,
  type SpecialFiles,
} from './special-files.js';
