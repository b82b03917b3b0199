/**
 * Entry of `npm run ml -- <command>`: train, eval, predict, replay. The one place in packages/ml that
 * reads the process environment (backend override, image cache dir); commands get it as CliEnv.
 */
import { logLine, type CliEnv } from "./cli-shared";
import { EVAL_USAGE, runEvalCommand } from "./eval-command";
import { PREDICT_USAGE, runPredictCommand } from "./predict-command";
import { REPLAY_USAGE, runReplayCommand } from "./replay-command";
import { TRAIN_USAGE, runTrainCommand } from "./train-command";

const USAGE = `HemaLoop ML CLI\n\n${TRAIN_USAGE}\n\n${EVAL_USAGE}\n\n${PREDICT_USAGE}\n\n${REPLAY_USAGE}\n
Environment: HEMALOOP_ML_BACKEND=auto|tensorflow|wasm|cpu (default auto), HEMALOOP_ML_CACHE_DIR=<dir>`;

/** Reads the environment once (the CLI is an app-like entry). */
function readCliEnv(): CliEnv {
  // The CLI entry is the app boundary: the only environment read in packages/ml.
  const env = process.env;
  return { backend: env["HEMALOOP_ML_BACKEND"], cacheDir: env["HEMALOOP_ML_CACHE_DIR"] };
}

/** Dispatches a command; returns the exit code. */
export async function runMlCli(argv: string[], env: CliEnv): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "train":
      await runTrainCommand(rest, env);
      return 0;
    case "eval":
      await runEvalCommand(rest, env);
      return 0;
    case "predict":
      await runPredictCommand(rest, env);
      return 0;
    case "replay":
      await runReplayCommand(rest, env);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 1 : 0;
    default:
      logLine(`Unknown command '${command}'\n\n${USAGE}`);
      return 1;
  }
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("ml-cli.ts");
if (isMain) {
  runMlCli(process.argv.slice(2), readCliEnv()).then(
    (code) => process.exit(code),
    (err: unknown) => {
      logLine(`[ml] error: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
