import { readdirSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

/**
 * Import boundaries between services. Every folder under `services/` except `shared/` is a service; a service may
 * import `services/shared/**` and `proto/gen/**`, never another service, and `services/shared` imports no service.
 * Exception: `services/cli` is the composition root (the `gatehouse` command) and may import each service's public
 * entry point — its `main.ts` or `index.ts`. Services never import tests or benchmarks, and production code never
 * imports the dev-only tree `dev/` (their unit tests may). Read from the tree, so a new service is covered.
 */
const SERVICES = readdirSync(new URL('./services/', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'shared')
  .map((d) => d.name);

const serviceBoundaries = [
  ...SERVICES.flatMap((service) =>
    SERVICES.filter((other) => other !== service).map((other) => ({
      target: `./services/${service}`,
      from: `./services/${other}`,
      ...(service === 'cli'
        ? {
            except: ['./main.ts', './index.ts'],
            message: `The CLI imports a service only through its entry point (main.ts or index.ts).`,
          }
        : {
            message: `A service imports only services/shared and proto/gen: move what ${service} needs from ${other} into services/shared.`,
          }),
    })),
  ),
  {
    target: './services/shared',
    from: SERVICES.map((service) => `./services/${service}`),
    message: 'services/shared is imported by the services and imports none of them.',
  },
  {
    target: './services',
    from: ['./test', './benchmarks'],
    message: 'Services do not import tests or benchmarks.',
  },
];

/** Production code (not its unit tests) never imports the dev-only tree, which the production build leaves out. */
const devBoundary = {
  target: './services',
  from: './dev',
  message: 'Production code does not import dev/ (left out of the production build); tests may.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack/', '.gatehouse/', 'proto/gen/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      // Resolve the `.js` specifiers of NodeNext imports to their `.ts` sources and parse those, so that the
      // import-x rules (no-cycle, no-restricted-paths) see the project's own modules.
      'import-x/extensions': ['.ts', '.js', '.mjs', '.cjs'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      // Bundled dependencies the import rules need not read (PGlite's minified chunks overflow the parser).
      'import-x/ignore': ['node_modules/@electric-sql/'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.node'],
          extensionAlias: { '.js': ['.ts', '.js'] },
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-default-export': 'error',
      'import-x/no-restricted-paths': [
        'error',
        { basePath: import.meta.dirname, zones: [...serviceBoundaries, devBoundary] },
      ],
      'no-console': 'error',
    },
  },
  {
    files: ['test/**', 'benchmarks/**', '**/*.test.ts', 'vitest.config.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: serviceBoundaries }],
      'no-console': 'off',
      'import-x/no-default-export': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
