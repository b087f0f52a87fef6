export type Command = { summary: string; run: (argv: string[]) => Promise<number> };
