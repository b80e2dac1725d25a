// Runs the engine CLI in its own process for the CLI tests: `node <loader> engine-cli-runner.ts <args>`.
import { runEngineCommand } from '../../src/engine/cli';

runEngineCommand(process.argv.slice(2)).then((code) => process.exit(code));
