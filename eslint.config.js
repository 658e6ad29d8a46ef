import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * The layers of src/, top to bottom: runtime → (check | ops | proxy) → quota → token → core. A folder may import
 * its own layer's files and the layers below it, never one above it or a peer. The simulator stands alone.
 */
const LAYERS = {
  runtime: [],
  check: ['runtime', 'ops', 'proxy', 'simulator'],
  ops: ['runtime', 'check', 'proxy', 'simulator'],
  proxy: ['runtime', 'check', 'ops', 'simulator'],
  quota: ['runtime', 'check', 'ops', 'proxy', 'simulator'],
  token: ['runtime', 'check', 'ops', 'proxy', 'quota', 'simulator'],
  core: ['runtime', 'check', 'ops', 'proxy', 'quota', 'token', 'simulator'],
  simulator: ['runtime', 'check', 'ops', 'proxy', 'quota', 'token', 'core']
}
const layerRules = Object.entries(LAYERS).map(([layer, above]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: above.map((name) => ({ group: [`../${name}/*`, `../../${name}/*`], message: `src/${layer} is below src/${name}: it may not import it (see the layer map in eslint.config.js)` }))
    }]
  }
}))

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', fetch: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', URLSearchParams: 'readonly', Response: 'readonly', Headers: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  ...layerRules
)
