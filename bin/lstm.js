#!/usr/bin/env node
// The `lstm` command: the bundled CLI in dist/ (lib/cli/main.ts).
import '../dist/cli.js';
