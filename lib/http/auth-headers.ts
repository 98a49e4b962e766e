import type { IHttpRequestOptions } from 'n8n-workflow';

/**
 * The request with `headers` set on it (over any of the same name), as n8n's generic
 * `authenticate` sets the headers it names; for credentials whose `authenticate` is a function.
 */
export function withHeaders(
	requestOptions: IHttpRequestOptions,
	headers: Record<string, string>,
): IHttpRequestOptions {
	return { ...requestOptions, headers: { ...requestOptions.headers, ...headers } };
}
