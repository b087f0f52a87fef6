import type { Command } from './command.js';

/** A dev-only module's entry: takes the arguments after the command name, resolves with the exit code. */
type DevEntry = (argv: string[]) => Promise<number>;

/**
 * A command implemented in the dev-only tree (`dev/`), which the production build (`npm run build`) leaves out.
 * The module is loaded by a computed path so the production compile does not pull it in; `npm run build:dev`
 * adds it to `dist/`. Without that build, or without the dev dependencies (`npm ci --omit=dev`), the command
 * says so and exits 2 instead of failing with a module-resolution stack.
 */
export function devCommand(name: string, summary: string, modulePath: string, exportName: string): Command {
  return {
    summary: `${summary} (development only)`,
    run: async (argv) => {
      const url = new URL(`../../dev/${modulePath}`, import.meta.url).href;
      let entry: unknown;
      try {
        entry = ((await import(url)) as Record<string, unknown>)[exportName];
      } catch (err) {
        const e = err as Error & { code?: string; url?: string };
        if (e.code !== 'ERR_MODULE_NOT_FOUND') throw err;
        process.stderr.write(
          e.url === url
            ? `gatehouse ${name} is a development command, not part of the production build: in a source checkout ` +
                'with the dev dependencies, run `npm run build:dev` first\n'
            : `gatehouse ${name} is a development command and needs the dev dependencies ` +
                `(${e.message.split('\n')[0]}): install them (npm ci without --omit=dev)\n`,
        );
        return 2;
      }
      if (typeof entry !== 'function') throw new TypeError(`dev/${modulePath} has no function ${exportName}`);
      return (entry as DevEntry)(argv);
    },
  };
}
