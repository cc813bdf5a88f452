/**
 * `npm run bench -- NAME`: runs one benchmark. Each benchmark module exports
 * `run(): Promise<string>` that prints its own progress and returns its headline, which is
 * printed last, as the issue gives it.
 */
const names = ['router', 'analytics', 'recordings', 'screenpop', 'crm-lookup'] as const;
const which = process.argv[2];
if (!which || !(names as readonly string[]).includes(which)) {
  console.error(`usage: npm run bench -- <${names.join('|')}>`);
  process.exit(2);
}
const mod = (await import(`./${which}.ts`)) as { run(): Promise<string> };
const headline = await mod.run();
console.log(headline);
process.exit(0);

export {};
