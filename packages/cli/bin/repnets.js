#!/usr/bin/env node
// The `repnets` command. This committed file, not dist/bin.js, is the bin:
// pnpm links bins at install time, before anything is built, and warns about a
// bin whose target does not exist yet.
import '../dist/bin.js';
