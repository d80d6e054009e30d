export { checkReadme, runReadmeSnippets, type SnippetRun } from './readme-snippet.js';
export { rng } from './rng.js';
export { scriptArgs } from './script-args.js';
export { machine, reportJson, type Summary, summarize } from './stats.js';
