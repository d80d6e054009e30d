// Preloaded with `node --import` into each README snippet: keeps what the
// snippet prints with console.log (and only that: libraries draw progress bars
// on process.stdout directly) and writes it as JSON to the file named by
// USER_INSTALL_CONSOLE_LOG when the process exits, even after an uncaught error.
import { writeFileSync } from 'node:fs';

const printed = [];
console.log = (...args) => {
  printed.push(args.map(String).join(' '));
};
process.on('exit', () => {
  // biome-ignore lint/suspicious/noUndeclaredEnvVars: set by run.mjs for this child only, not a turbo input
  writeFileSync(process.env.USER_INSTALL_CONSOLE_LOG, JSON.stringify(printed));
});
