/**
 * Minimal typings for the parts of `oidc-provider` v9 that the dev IdP uses. The package ships no types and
 * `@types/oidc-provider` is not a dependency; widen these only as new parts are used.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type ResourceServerInfo = {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string; kid?: string } };
  };

  export interface ResourceServer {
    readonly audience?: string;
    identifier(): string;
  }

  export interface Client {
    readonly clientId: string;
    grantTypeAllowed(grantType: string): boolean;
  }

  export interface IssuedToken {
    readonly kind: string;
    readonly clientId?: string;
    readonly accountId?: string;
    readonly gty?: string;
    expiresIn?: number;
    readonly expiration: number;
    readonly tokenType: string;
    resourceServer?: ResourceServer;
    save(): Promise<string>;
  }

  export type OidcContext = {
    readonly params: Readonly<Record<string, string | string[] | undefined>>;
    readonly client?: Client;
    entity(name: string, value: unknown): void;
  };

  export type KoaContextWithOIDC = {
    oidc: OidcContext;
    body: unknown;
    status: number;
  };

  export type ClientMetadata = {
    client_id: string;
    client_secret?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
    application_type?: 'web' | 'native';
  };

  export type Configuration = {
    adapter?: (model: string) => object;
    clients?: ClientMetadata[];
    jwks?: { keys: Record<string, unknown>[] };
    cookies?: { keys?: string[] };
    clockTolerance?: number;
    features?: Record<string, Record<string, unknown>>;
    extraTokenClaims?: (ctx: unknown, token: IssuedToken) => Promise<Record<string, unknown> | undefined>;
    findAccount?: (
      ctx: unknown,
      sub: string,
    ) => Promise<{ accountId: string; claims(): Promise<{ sub: string } & Record<string, unknown>> }>;
    pkce?: { required?: (ctx: unknown, client: Client) => boolean };
    issueRefreshToken?: (ctx: unknown, client: Client, code: unknown) => Promise<boolean>;
    ttl?: Record<string, number | ((ctx: unknown, token: IssuedToken, client: Client) => number)>;
    renderError?: (
      ctx: { type: string; body: unknown },
      out: Record<string, unknown>,
      error: Error,
    ) => Promise<void>;
    scopes?: string[];
    claims?: Record<string, string[] | null>;
    responseTypes?: string[];
    routes?: Record<string, string>;
  };

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    registerGrantType(
      name: string,
      handler: (ctx: KoaContextWithOIDC) => Promise<void>,
      params?: string | string[] | Set<string>,
      dupes?: string | string[] | Set<string>,
    ): void;
    readonly AccessToken: new (args: {
      accountId?: string;
      client?: Client;
      gty?: string;
      expiresIn?: number;
    }) => IssuedToken;
    readonly ResourceServer: new (identifier: string, info: ResourceServerInfo) => ResourceServer;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  type OAuthErrorClass = new (description?: string) => Error & { error: string; status: number };

  export const errors: {
    readonly InvalidGrant: OAuthErrorClass;
    readonly InvalidRequest: OAuthErrorClass;
    readonly InvalidTarget: OAuthErrorClass;
  };
}
