import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import nextVitals from "eslint-config-next/core-web-vitals";
import prettier from "eslint-config-prettier/flat";

// eslint-config-next's flat config (React, hooks, a11y, import and @next/next rules) for the React code only.
// Its Babel parser is dropped so typescript-eslint's parser (above) keeps parsing TS/TSX.
const reactFiles = ["apps/web/**/*.{ts,tsx,mts}", "packages/ui/**/*.{ts,tsx}"];
const nextForReact = nextVitals
  .filter((c) => c.name === "next" || c.name === "next/core-web-vitals")
  .map(({ languageOptions, ...c }) => ({
    ...c,
    files: reactFiles,
    ...(languageOptions?.globals ? { languageOptions: { globals: languageOptions.globals } } : {}),
    settings: { ...c.settings, next: { rootDir: "apps/web/" } },
  }));

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/**",
      "**/.next/**",
      "**/dist/**",
      "**/.data/**",
      "packages/db/drizzle/**",
      "apps/web/next-env.d.ts",
      "apps/web/public/**",
      "test-results/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node, ...globals.browser },
      // Each file is type-checked with the tsconfig.json nearest to it (the same programs `npm run typecheck` builds).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      // React's event props are typed `() => void`; an async handler there is the normal React idiom.
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
      // An async method without await implements a Promise-returning interface and turns throws into rejections.
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    files: ["**/test/**", "e2e/**"],
    rules: {
      // Vitest's asymmetric matchers (expect.closeTo, expect.stringMatching, ...) are typed `any` by design;
      // member access, calls and arguments on `any` stay errors, so an untyped JSON.parse is still caught.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-return": "off",
    },
  },
  {
    // Plain JavaScript (configs, scripts) is not part of any tsconfig program.
    files: ["**/*.{js,mjs,cjs}", "**/*.d.mts"],
    extends: [tseslint.configs.disableTypeChecked],
  },
  ...nextForReact,
  {
    files: ["apps/web/src/**/*.{ts,tsx}"],
    rules: {
      // The root export re-exports the import pipeline (sharp, tiling); apps/web/test/import-graph.test.ts checks the graph.
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "@hemaloop/db",
              message: "Import a subpath (@hemaloop/db/queries, /client, /errors, ...): the root loads the import pipeline.",
            },
          ],
          patterns: [
            {
              group: ["@hemaloop/db/import", "@hemaloop/db/import/*", "sharp"],
              message: "The web app never loads the import pipeline or sharp.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["packages/**/*.ts", "packages/**/*.tsx"],
    ignores: ["packages/*/test/**", "packages/*/src/cli/**", "packages/*/bench/**"],
    rules: {
      // Packages receive configuration from the apps; only apps read the environment.
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Packages never read process.env; pass config down from the app." },
      ],
    },
  },
  // Last: turns off any rule that would fight Prettier's formatting.
  prettier,
);
