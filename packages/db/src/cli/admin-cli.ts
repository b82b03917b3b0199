// npm run admin -- create-admin --email <e> [--name <n>]: the first (or another) system admin.
// The password comes from HEMALOOP_ADMIN_PASSWORD, else it is generated and printed once.
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { z } from "zod";
import { DomainError } from "../errors";
import { resolveRuntimeConfig } from "../runtime-config";
import { CliError, openMigratedDb, repoRoot, runCli } from "./cli-support";
import { createSystemAdmin, MIN_ADMIN_PASSWORD_LENGTH } from "./create-admin";

const USAGE = "usage: npm run admin -- create-admin --email <email> [--name <name>]  (password: HEMALOOP_ADMIN_PASSWORD or generated)";

const argsSchema = z.object({
  command: z.literal("create-admin", { error: USAGE }),
  email: z.email({ error: "--email must be an email address" }).max(320),
  name: z.string().trim().min(1).max(200).optional(),
});
const envSchema = z.object({
  HEMALOOP_ADMIN_PASSWORD: z
    .string()
    .min(MIN_ADMIN_PASSWORD_LENGTH, `HEMALOOP_ADMIN_PASSWORD must have at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`)
    .max(1024)
    .optional(),
});

function parseCommandLine(argv: string[]) {
  const raw = (() => {
    try {
      return parseArgs({ args: argv, options: { email: { type: "string" }, name: { type: "string" } }, allowPositionals: true });
    } catch (error) {
      throw new CliError(`${(error as Error).message}\n${USAGE}`, 2);
    }
  })();
  if (raw.positionals.length !== 1) throw new CliError(USAGE, 2);
  const parsed = argsSchema.safeParse({ command: raw.positionals[0], email: raw.values.email, name: raw.values.name });
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => i.message).join("; ");
    throw new CliError(why === USAGE ? USAGE : `${why}\n${USAGE}`, 2);
  }
  return parsed.data;
}

runCli(async () => {
  const args = parseCommandLine(process.argv.slice(2));
  const env = envSchema.safeParse(process.env);
  if (!env.success) throw new CliError(env.error.issues.map((i) => i.message).join("; "), 2);
  const config = resolveRuntimeConfig(process.env, repoRoot);
  const generated = env.data.HEMALOOP_ADMIN_PASSWORD === undefined;
  const password = env.data.HEMALOOP_ADMIN_PASSWORD ?? randomBytes(18).toString("base64url");
  const { handle, where } = await openMigratedDb(config);
  try {
    const admin = await createSystemAdmin(handle.db, {
      email: args.email,
      name: args.name ?? args.email.split("@")[0]!,
      password,
    }).catch((error: unknown) => {
      if (error instanceof DomainError) throw new CliError(error.message);
      throw error;
    });
    console.log(`created system admin ${admin.email} (${admin.name}) in ${where}`);
    if (generated) console.log(`password: ${password}\n(shown once: store it now; it is not saved anywhere in clear)`);
    else console.log("password: the one in HEMALOOP_ADMIN_PASSWORD");
  } finally {
    await handle.close();
  }
});
