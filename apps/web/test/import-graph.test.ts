import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * The web app must not load the import pipeline (packages/db/src/import: decoding, tiling) or sharp:
 * it reaches @hemaloop/db through subpath exports only. This walks the runtime import graph the way the
 * bundler resolves it (TypeScript's "bundler" resolution through package.json exports, symlinked
 * workspaces followed to their source) and checks what it reaches.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const rel = (file: string) => path.relative(repoRoot, file).split(path.sep).join("/");
const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  jsx: ts.JsxEmit.Preserve,
  resolveJsonModule: true,
};
const builtins = new Set(builtinModules);

/** Module specifiers a file loads at run time: type-only imports and exports are erased, so left out. */
function runtimeSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : undefined;
      const typeOnly = clause?.isTypeOnly || (clause && !clause.name && named && named.length > 0 && named.every((e) => e.isTypeOnly));
      if (!typeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (!node.isTypeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.arguments.length === 1 && ts.isStringLiteral(node.arguments[0]!)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) {
        found.push(node.arguments[0].text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** A bare specifier's package name: "next/link" -> "next", "@trpc/server/x" -> "@trpc/server". */
function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

type Graph = { files: Set<string>; externals: Set<string>; unresolved: string[]; edges: Array<[from: string, specifier: string]> };

/** Walks repo source files from the roots; packages in node_modules are recorded by name, not entered. */
function walkImports(roots: string[]): Graph {
  const graph: Graph = { files: new Set(), externals: new Set(), unresolved: [], edges: [] };
  const queue = roots.map((r) => realpathSync(r));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (graph.files.has(file)) continue;
    graph.files.add(file);
    for (const specifier of runtimeSpecifiers(file)) {
      graph.edges.push([rel(file), specifier]);
      if (specifier.startsWith("node:") || builtins.has(specifier)) continue;
      const resolved = ts.resolveModuleName(specifier, file, compilerOptions, ts.sys).resolvedModule;
      const target = resolved ? realpathSync(resolved.resolvedFileName) : undefined;
      const inRepoSource =
        target &&
        !target.includes(`${path.sep}node_modules${path.sep}`) &&
        /\.(ts|tsx|mts|js|mjs)$/.test(target) &&
        !target.endsWith(".d.ts");
      if (inRepoSource) queue.push(target);
      else if (!specifier.startsWith(".")) graph.externals.add(packageName(specifier));
      else graph.unresolved.push(`${rel(file)} -> ${specifier}`);
    }
  }
  return graph;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|tsx)$/.test(e.name) && !e.name.endsWith(".d.ts"))
    .map((e) => path.join(e.parentPath, e.name));
}

const importPipeline = "packages/db/src/import/";
const reachedPipeline = (g: Graph) => [...g.files].map(rel).filter((f) => f.startsWith(importPipeline));

describe("web app import graph", () => {
  const web = walkImports(sourceFiles(path.join(repoRoot, "apps/web/src")));

  it("walks into @hemaloop/db through its subpath exports", () => {
    const files = [...web.files].map(rel);
    expect(files).toEqual(
      expect.arrayContaining(["packages/db/src/queries/index.ts", "packages/db/src/client.ts", "packages/db/src/errors.ts"]),
    );
    // only asset imports (CSS) are left unresolved: no source file is silently skipped
    expect(web.unresolved.filter((u) => !u.endsWith(".css"))).toEqual([]);
  });

  it("reaches neither the import pipeline nor sharp", () => {
    expect(reachedPipeline(web)).toEqual([]);
    expect(web.externals.has("sharp")).toBe(false);
  });

  it("imports @hemaloop/db by subpath only, never the root or the import subpath", () => {
    const fromWeb = web.edges.filter(([from]) => from.startsWith("apps/web/"));
    expect(fromWeb.filter(([, s]) => s === "@hemaloop/db" || s.startsWith("@hemaloop/db/import"))).toEqual([]);
  });

  it("would notice: the root export does reach the import pipeline and sharp", () => {
    const root = walkImports([path.join(repoRoot, "packages/db/src/index.ts")]);
    expect(reachedPipeline(root)).toContain("packages/db/src/import/index.ts");
    expect(root.externals.has("sharp")).toBe(true);
  });
});
