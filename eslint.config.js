import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

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
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["packages/**/*.ts", "packages/**/*.tsx"],
    ignores: ["packages/*/test/**", "packages/*/src/cli/**", "packages/*/bench/**"],
    rules: {
      // Packages receive configuration from the apps; only apps read the environment.
      "no-restricted-properties": ["error", { object: "process", property: "env", message: "Packages never read process.env; pass config down from the app." }],
    },
  },
);
