/** The demo upstream's data: a few customers with e-mail addresses and (test) card numbers. In memory only. */
export type Customer = {
  readonly id: number;
  readonly name: string;
  readonly email: string;
  readonly card_number: string;
  readonly city: string;
};

const SEED: readonly Customer[] = [
  {
    id: 1,
    name: 'Mary Johnson',
    email: 'mary.johnson@example.org',
    card_number: '4111111111111111',
    city: 'Leeds',
  },
  {
    id: 2,
    name: 'Omar Haddad',
    email: 'omar.haddad@example.com',
    card_number: '5555555555554444',
    city: 'Lyon',
  },
  { id: 3, name: 'Ana Souza', email: 'ana.souza@example.net', card_number: '378282246310005', city: 'Porto' },
  {
    id: 4,
    name: 'Kenji Sato',
    email: 'kenji.sato@example.org',
    card_number: '6011111111111117',
    city: 'Osaka',
  },
];

/** The customer table of one demo server. */
export class CustomerStore {
  readonly #rows = new Map<number, Customer>(SEED.map((c) => [c.id, c]));

  list(limit: number): Customer[] {
    return [...this.#rows.values()].slice(0, limit);
  }

  delete(id: number): boolean {
    return this.#rows.delete(id);
  }

  reset(): void {
    this.#rows.clear();
    for (const c of SEED) this.#rows.set(c.id, c);
  }
}
