#!/usr/bin/env node
// A committed entry point that exists before `prepare` builds dist/, so the linked command never
// points at a file that a fresh checkout does not have yet.
import '../dist/cli/main.js';
