#!/usr/bin/env node
// Committed launcher: npm links a workspace's bin before `prepare` builds dist/, and skips a link
// whose target does not exist yet, so the bin must not point into dist/ directly.
import '../dist/cli/main.js';
