// The commands of `npm run admin`: parsed and validated here, executed by the same service functions
// the web app calls. Kept apart from the entry point so tests can run them in-process.
import { randomBytes } from "node:crypto";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import type { Db } from "../client";
import { DomainError } from "../errors";
import { projectRoles, type ProjectRole } from "../queries/projects";
import {
  addDatasetToProject,
  addInstitutionAdmin,
  addProjectMember,
  changeProjectMemberRole,
  createInstitution,
  createProject,
  createUser,
  disableUser,
  enableUser,
  MIN_PASSWORD_LENGTH,
  removeProjectMember,
  resetPassword,
  setSystemAdmin,
  SYSTEM_ACTOR,
  type WithPassword,
} from "../services";
import { CliError } from "./cli-support";
import { createSystemAdmin, MIN_ADMIN_PASSWORD_LENGTH } from "./create-admin";

export const PROGRAM = "npm run admin --";

type Options = NonNullable<ParseArgsConfig["options"]>;
/** Where a command runs and what it may read: the entry point passes process.env, tests their own. */
export type CommandContext = { db: Db; where: string; env: Record<string, string | undefined> };

type Command<S extends z.ZodType> = {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  schema: S;
  run: (args: z.infer<S>, ctx: CommandContext) => Promise<string>;
};

function defineCommand<S extends z.ZodType>(command: Command<S>): Command<z.ZodType> {
  return command;
}

const email = z.email({ error: "--email must be an email address" }).max(320);
const text = (flag: string, max = 200) =>
  z
    .string({ error: `${flag} is required` })
    .trim()
    .min(1, `${flag} must not be empty`)
    .max(max);
const role = z.enum(projectRoles as [ProjectRole, ...ProjectRole[]], { error: `--role must be one of ${projectRoles.join(", ")}` });
const str = { type: "string" } as const;
const flag = { type: "boolean" } as const;

const passwordEnv = (variable: string, min: number) =>
  z.object({
    [variable]: z.string().min(min, `${variable} must have at least ${min} characters`).max(1024).optional(),
  });

function readPassword(ctx: CommandContext, variable: string, min: number): string | undefined {
  const parsed = passwordEnv(variable, min).safeParse(ctx.env);
  if (!parsed.success) throw new CliError(parsed.error.issues.map((i) => i.message).join("; "), 2);
  return parsed.data[variable];
}

function describePassword(result: Pick<WithPassword<unknown>, "password" | "generated">, variable: string): string {
  return result.generated
    ? `password: ${result.password}\n(shown once: store it now; it is not saved anywhere in clear)`
    : `password: the one in ${variable}`;
}

const USER_PASSWORD = "HEMALOOP_USER_PASSWORD";
const systemNote = "(as the system: audit events have no actor and say via: system)";

const commands: Array<Command<z.ZodType>> = [
  defineCommand({
    name: "create-admin",
    summary: "create a system admin (the first one, typically)",
    usage: "create-admin --email <email> [--name <name>]  (password: HEMALOOP_ADMIN_PASSWORD or generated)",
    options: { email: str, name: str },
    schema: z.object({ email, name: text("--name").optional() }),
    async run(args, ctx) {
      const given = readPassword(ctx, "HEMALOOP_ADMIN_PASSWORD", MIN_ADMIN_PASSWORD_LENGTH);
      const password = given ?? randomBytes(18).toString("base64url");
      const admin = await createSystemAdmin(ctx.db, { email: args.email, name: args.name ?? args.email.split("@")[0]!, password });
      const shown = describePassword({ password, generated: given === undefined }, "HEMALOOP_ADMIN_PASSWORD");
      return `created system admin ${admin.email} (${admin.name}) in ${ctx.where}\n${shown}`;
    },
  }),
  defineCommand({
    name: "user add",
    summary: "create a user who can sign in",
    usage: `user add --email <email> --name <name> [--admin]  (password: ${USER_PASSWORD} or generated)`,
    options: { email: str, name: str, admin: flag },
    schema: z.object({ email, name: text("--name"), admin: z.boolean().default(false) }),
    async run(args, ctx) {
      const password = readPassword(ctx, USER_PASSWORD, MIN_PASSWORD_LENGTH);
      const created = await createUser(ctx.db, SYSTEM_ACTOR, { email: args.email, name: args.name, password, isSystemAdmin: args.admin });
      const kind = created.isSystemAdmin ? "system admin" : "user";
      return `created ${kind} ${created.email} (${created.name}) in ${ctx.where}\n${describePassword(created, USER_PASSWORD)}`;
    },
  }),
  defineCommand({
    name: "user disable",
    summary: "disable a user: no sign-in, open sessions end at once; labels and history stay",
    usage: "user disable --email <email>",
    options: { email: str },
    schema: z.object({ email }),
    async run(args, ctx) {
      const u = await disableUser(ctx.db, SYSTEM_ACTOR, args);
      return `disabled ${u.email}; their labels and history are kept`;
    },
  }),
  defineCommand({
    name: "user enable",
    summary: "enable a disabled user again",
    usage: "user enable --email <email>",
    options: { email: str },
    schema: z.object({ email }),
    async run(args, ctx) {
      const u = await enableUser(ctx.db, SYSTEM_ACTOR, args);
      return `enabled ${u.email}`;
    },
  }),
  defineCommand({
    name: "user reset-password",
    summary: "set a new password",
    usage: `user reset-password --email <email>  (password: ${USER_PASSWORD} or generated)`,
    options: { email: str },
    schema: z.object({ email }),
    async run(args, ctx) {
      const password = readPassword(ctx, USER_PASSWORD, MIN_PASSWORD_LENGTH);
      const u = await resetPassword(ctx.db, SYSTEM_ACTOR, { email: args.email, password });
      return `new password set for ${u.email}\n${describePassword(u, USER_PASSWORD)}`;
    },
  }),
  defineCommand({
    name: "user make-admin",
    summary: "grant (or with --revoke take away) system-admin rights",
    usage: "user make-admin --email <email> [--revoke]",
    options: { email: str, revoke: flag },
    schema: z.object({ email, revoke: z.boolean().default(false) }),
    async run(args, ctx) {
      const u = await setSystemAdmin(ctx.db, SYSTEM_ACTOR, { email: args.email, isSystemAdmin: !args.revoke });
      return `${u.email} ${u.isSystemAdmin ? "is now a system admin" : "is no longer a system admin"}`;
    },
  }),
  defineCommand({
    name: "institution add",
    summary: "create an institution (datasets belong to one)",
    usage: "institution add --name <name> [--country <country>]",
    options: { name: str, country: str },
    schema: z.object({ name: text("--name"), country: text("--country", 100).optional() }),
    async run(args, ctx) {
      const inst = await createInstitution(ctx.db, SYSTEM_ACTOR, args);
      return `created institution "${inst.name}"`;
    },
  }),
  defineCommand({
    name: "institution add-admin",
    summary: "make a user an admin of an institution",
    usage: "institution add-admin --institution <name> --email <email>",
    options: { institution: str, email: str },
    schema: z.object({ institution: text("--institution"), email }),
    async run(args, ctx) {
      await addInstitutionAdmin(ctx.db, SYSTEM_ACTOR, { institutionName: args.institution, email: args.email });
      return `${args.email} is now an admin of "${args.institution}"`;
    },
  }),
  defineCommand({
    name: "project create",
    summary: "create a project in a class scheme",
    usage: "project create --slug <slug> --name <name> --scheme <scheme key> [--description <text>]",
    options: { slug: str, name: str, scheme: str, description: str },
    schema: z.object({
      slug: text("--slug", 100),
      name: text("--name"),
      scheme: text("--scheme", 100),
      description: text("--description", 2000).optional(),
    }),
    async run(args, ctx) {
      const p = await createProject(ctx.db, SYSTEM_ACTOR, {
        slug: args.slug,
        name: args.name,
        schemeKey: args.scheme,
        description: args.description,
      });
      return `created project ${p.slug} (${p.name})`;
    },
  }),
  defineCommand({
    name: "project add-dataset",
    summary: "add an imported dataset to a project",
    usage: "project add-dataset --project <slug> --dataset <name> [--institution <name>]",
    options: { project: str, dataset: str, institution: str },
    schema: z.object({ project: text("--project", 100), dataset: text("--dataset"), institution: text("--institution").optional() }),
    async run(args, ctx) {
      await addDatasetToProject(ctx.db, SYSTEM_ACTOR, {
        projectSlug: args.project,
        datasetName: args.dataset,
        institutionName: args.institution,
      });
      return `added dataset "${args.dataset}" to ${args.project}`;
    },
  }),
  defineCommand({
    name: "member add",
    summary: "add a user to a project with a role",
    usage: `member add --project <slug> --email <email> --role <${projectRoles.join("|")}>`,
    options: { project: str, email: str, role: str },
    schema: z.object({ project: text("--project", 100), email, role }),
    async run(args, ctx) {
      await addProjectMember(ctx.db, SYSTEM_ACTOR, {
        projectSlug: args.project,
        email: args.email,
        role: args.role,
      });
      return `${args.email} is now ${args.role} in ${args.project}`;
    },
  }),
  defineCommand({
    name: "member role",
    summary: "change a member's role",
    usage: `member role --project <slug> --email <email> --role <${projectRoles.join("|")}>`,
    options: { project: str, email: str, role: str },
    schema: z.object({ project: text("--project", 100), email, role }),
    async run(args, ctx) {
      await changeProjectMemberRole(ctx.db, SYSTEM_ACTOR, {
        projectSlug: args.project,
        email: args.email,
        role: args.role,
      });
      return `${args.email} is now ${args.role} in ${args.project}`;
    },
  }),
  defineCommand({
    name: "member remove",
    summary: "remove a user from a project (their labels stay)",
    usage: "member remove --project <slug> --email <email>",
    options: { project: str, email: str },
    schema: z.object({ project: text("--project", 100), email }),
    async run(args, ctx) {
      await removeProjectMember(ctx.db, SYSTEM_ACTOR, { projectSlug: args.project, email: args.email });
      return `removed ${args.email} from ${args.project}; their labels are kept`;
    },
  }),
];

/** The overview printed by --help and for an unknown command. */
export function generalUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `usage: ${PROGRAM} <command> [options]   (${PROGRAM} <command> --help for its options)`,
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    `Every command acts ${systemNote}.`,
  ].join("\n");
}

function commandUsage(c: Command<z.ZodType>): string {
  return `usage: ${PROGRAM} ${c.usage}\n${c.summary} ${systemNote}`;
}

export type ParsedCommandLine =
  { kind: "help"; text: string } | { kind: "run"; name: string; run: (ctx: CommandContext) => Promise<string> };

/** Parses argv into a validated command (or the help asked for); a CliError with exit code 2 for bad usage. */
export function parseAdminCommandLine(argv: string[]): ParsedCommandLine {
  const words = argv.filter((a) => !a.startsWith("-"));
  const command = commands.find((c) => {
    const parts = c.name.split(" ");
    return parts.every((part, i) => words[i] === part);
  });
  const wantsHelp = argv.includes("--help") || argv.includes("-h");
  if (!command) {
    if (wantsHelp || argv.length === 0) return { kind: "help", text: generalUsage() };
    const isGroup = commands.some((c) => c.name.startsWith(`${words[0]} `));
    throw new CliError(`unknown command "${words.slice(0, isGroup ? 2 : 1).join(" ")}"\n${generalUsage()}`, 2);
  }
  if (wantsHelp) return { kind: "help", text: commandUsage(command) };
  const usage = commandUsage(command);
  let raw: ReturnType<typeof parseArgs>;
  try {
    raw = parseArgs({ args: argv, options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n${usage}`, 2);
  }
  const extra = raw.positionals.slice(command.name.split(" ").length);
  if (extra.length > 0) throw new CliError(`unexpected argument "${extra[0]}"\n${usage}`, 2);
  const parsed = command.schema.safeParse(raw.values);
  if (!parsed.success) throw new CliError(`${parsed.error.issues.map((i) => i.message).join("; ")}\n${usage}`, 2);
  return {
    kind: "run",
    name: command.name,
    run: (ctx) =>
      command.run(parsed.data, ctx).catch((error: unknown) => {
        // Domain errors are the operator's to fix (duplicate, unknown name): their message is the whole story.
        if (error instanceof DomainError) throw new CliError(error.message);
        throw error;
      }),
  };
}
