export { checkReadme, runReadmeSnippets, type SnippetRun } from './readme-snippet.js';
export { rng } from './rng.js';
export { scriptArgs } from './script-args.js';
export { machine, type Summary, summarize, writeJsonAtomic } from './stats.js';
