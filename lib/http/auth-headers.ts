import type { IHttpRequestOptions } from 'n8n-workflow';

/**
 * The request with `Authorization: Bearer <token>` and any `other` headers set on it (over any of
 * the same name), as n8n's generic `authenticate` sets the headers it names. Our credentials'
 * `authenticate` is a function calling this, not the generic form
 * (`'=Bearer {{$credentials.accessToken}}'`): n8n 2.x evaluates those expressions for every request
 * in its isolated expression runtime, which took 42% of the time of a 5,000-contact load in n8n
 * 2.40.7 (one CPU profile of n8n's process, 2026-12-01). n8n supports both forms in every version
 * this package runs on: its credentials helper calls a function as it is, and its loader shows the
 * editor `authenticate: {}`, so HTTP Request still offers the types.
 */
export function withBearer(
	requestOptions: IHttpRequestOptions,
	token: unknown,
	other: Record<string, string> = {},
): IHttpRequestOptions {
	return {
		...requestOptions,
		headers: {
			...requestOptions.headers,
			Authorization: `Bearer ${String(token ?? '')}`,
			...other,
		},
	};
}
