// ESLint (flat config): @eslint/js's recommended rules. src/ runs in the browser;
// src/logic/ is pure: only what node and browsers both have (no DOM), as node's unit
// tests (test/) import it; the build script and the tests run in node. Formatting is
// standard style (no semicolons), not checked here.

import js from '@eslint/js'
import globals from 'globals'

export default [
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' }
  },
  {
    files: ['src/**/*.js'],
    ignores: ['src/logic/**'],
    languageOptions: { globals: globals.browser }
  },
  {
    files: ['src/logic/**/*.js'],
    languageOptions: { globals: globals['shared-node-browser'] }
  },
  {
    files: ['build.mjs', 'eslint.config.js', 'test/**/*.js'],
    languageOptions: { globals: globals.node }
  }
]
