/**
 * The layer check run by `npm test` (DESIGN.md, "Code layout"):
 * - domain/ is pure: it imports only other domain code, zod and luxon-free date maths
 *   helpers we own; never an adapter, a driver, node I/O or the kernel's I/O modules;
 * - nothing imports a test;
 * - there are no circular imports anywhere.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Circular imports make start-up order fragile and hide layering mistakes.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'domain/ holds pure decisions: no adapters, no drivers, no node I/O, no logger, no clock.',
      from: { path: '(^|/)domain/' },
      to: {
        pathNot: [
          '(^|/)domain/',
          '^platform/events/contract\\.ts$',
          '^platform/phone\\.ts$',
          '^platform/errors\\.ts$',
          '^platform/schemas/',
          'node_modules/zod/',
          'node_modules/luxon/',
          'node_modules/libphonenumber-js/',
          'node_modules/@types/luxon/',
        ],
      },
    },
    {
      name: 'domain-no-node-builtins',
      severity: 'error',
      from: { path: '(^|/)domain/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'no-test-imports-from-product',
      severity: 'error',
      from: { pathNot: '^(tests|bench)/' },
      to: { path: '^tests/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|^web/dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
