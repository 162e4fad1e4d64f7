// ESLint flat config for the browser JS of every surface (run by `make lint`).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["**/static/build/**", "node_modules/**", ".venv/**"] },
  {
    files: ["kiosk/js/**/*.js", "display/js/**/*.js", "counter/js/**/*.js", "dashboard/js/**/*.js", "booking/js/**/*.js", "web/lib/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    rules: {
      ...js.configs.recommended.rules,
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
      "no-var": "error",
      "prefer-const": "error",
      complexity: ["error", 15], // as ruff C90 for Python (issue 11)
    },
  },
  {
    files: ["web/build.mjs", "eslint.config.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    rules: { ...js.configs.recommended.rules },
  },
];
