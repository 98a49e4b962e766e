/**
 * Microsoft Entra ID's client-credentials token endpoint as the sandbox plays it, and the bearer
 * check every Web API call goes through. Tokens are opaque JWT-shaped strings held in memory.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Reply } from '../common/server';

export interface ClientCredentials {
	clientId: string;
	clientSecret: string;
}

interface IssuedToken {
	clientId: string;
	expiresAt: number;
}

export class TokenAuthority {
	private readonly tokens = new Map<string, IssuedToken>();

	constructor(
		readonly tenantId: string,
		private readonly clients: ClientCredentials[],
		public lifetimeSeconds: number,
	) {}

	/** Every issued token stops working, as after a key rollover. */
	expireAll(): void {
		for (const token of this.tokens.values()) token.expiresAt = 0;
	}

	private entraError(status: number, error: string, code: number, description: string): Reply {
		const traceId = randomUUID();
		const correlationId = randomUUID();
		const timestamp = new Date().toISOString().replace('T', ' ').replace('Z', 'Z');
		return {
			status,
			headers: {
				'Content-Type': 'application/json; charset=utf-8',
				'Cache-Control': 'no-store, no-cache',
			},
			body: {
				error,
				error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
				error_codes: [code],
				timestamp,
				trace_id: traceId,
				correlation_id: correlationId,
				error_uri: `https://login.microsoftonline.com/error?code=${code}`,
			},
		};
	}

	/** `POST /{tenant}/oauth2/v2.0/token`. */
	issue(tenant: string, rawBody: string, environmentUrl: string): Reply {
		if (tenant.toLowerCase() !== this.tenantId.toLowerCase()) {
			return this.entraError(
				400,
				'invalid_request',
				90002,
				`Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
			);
		}
		const form = new URLSearchParams(rawBody);
		const grantType = form.get('grant_type');
		if (grantType !== 'client_credentials') {
			return this.entraError(
				400,
				'unsupported_grant_type',
				70003,
				`The app requested an unsupported grant type '${grantType ?? ''}'.`,
			);
		}
		const clientId = form.get('client_id') ?? '';
		const client = this.clients.find((c) => c.clientId.toLowerCase() === clientId.toLowerCase());
		if (!client) {
			return this.entraError(
				400,
				'unauthorized_client',
				700016,
				`Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
			);
		}
		if (form.get('client_secret') !== client.clientSecret) {
			return this.entraError(
				401,
				'invalid_client',
				7000215,
				`Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.clientId}'.`,
			);
		}
		const scope = (form.get('scope') ?? '').trim();
		const expected = [`${environmentUrl}/.default`, `${environmentUrl}//.default`].map((s) =>
			s.toLowerCase(),
		);
		if (!expected.includes(scope.toLowerCase())) {
			return this.entraError(
				400,
				'invalid_scope',
				70011,
				`The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`,
			);
		}
		const token = [
			Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256' })).toString('base64url'),
			Buffer.from(
				JSON.stringify({
					aud: environmentUrl,
					tid: this.tenantId,
					appid: client.clientId,
					jti: randomUUID(),
				}),
			).toString('base64url'),
			randomBytes(32).toString('base64url'),
		].join('.');
		this.tokens.set(token, {
			clientId: client.clientId,
			expiresAt: Date.now() + this.lifetimeSeconds * 1000,
		});
		this.prune();
		return {
			status: 200,
			headers: {
				'Content-Type': 'application/json; charset=utf-8',
				'Cache-Control': 'no-store, no-cache',
			},
			body: {
				token_type: 'Bearer',
				expires_in: this.lifetimeSeconds,
				ext_expires_in: this.lifetimeSeconds,
				access_token: token,
			},
		};
	}

	private prune(): void {
		if (this.tokens.size < 10000) return;
		const now = Date.now();
		for (const [token, info] of this.tokens) if (info.expiresAt <= now) this.tokens.delete(token);
	}

	/** The client a valid bearer token belongs to, or the 401 Dataverse answers. */
	authenticate(
		authorization: string | undefined,
		environmentUrl: string,
	): { clientId: string } | Reply {
		const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
		if (!match) return this.unauthorized(environmentUrl, false);
		const info = this.tokens.get(match[1]);
		if (!info || info.expiresAt <= Date.now()) return this.unauthorized(environmentUrl, true);
		return { clientId: info.clientId };
	}

	/** Dataverse's 401: an empty body and a `WWW-Authenticate` challenge naming the authority. */
	unauthorized(environmentUrl: string, invalidToken: boolean): Reply {
		const authority = `${environmentUrl}/${this.tenantId}/oauth2/authorize`;
		const challenge = invalidToken
			? `Bearer error=invalid_token, error_description="Error during token validation!", authorization_uri=${authority}, resource_id=${environmentUrl}`
			: `Bearer authorization_uri=${authority}, resource_id=${environmentUrl}`;
		return { status: 401, headers: { 'WWW-Authenticate': challenge, 'OData-Version': '4.0' } };
	}
}
