/**
 * Runs a credential type's `test` request the way n8n's credential tester does: a fresh token from
 * `preAuthentication`, the `authenticate` headers, then the request with its `{{$credentials.x}}`
 * expressions resolved, sent with n8n-core's own `httpRequest`.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IHttpRequestOptions,
} from 'n8n-workflow';

import type { N8nTestContext } from '../unit/http/n8n-context';

function resolve(value: unknown, data: ICredentialDataDecryptedObject): unknown {
	if (typeof value !== 'string' || !value.startsWith('=')) return value;
	return value
		.slice(1)
		.replace(/\{\{\s*\$credentials\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, key: string) =>
			String(data[key] ?? ''),
		);
}

export async function runCredentialTest(
	type: ICredentialType,
	context: N8nTestContext,
): Promise<{ status: number; body: unknown }> {
	const stored: ICredentialDataDecryptedObject = context.credentials.getStored(type.name) ?? {};
	const token = await type.preAuthentication!.call({ helpers: context.ctx.helpers }, { ...stored });
	const data = { ...stored, ...token } as ICredentialDataDecryptedObject;
	const request = type.test!.request;
	let options: IHttpRequestOptions = {
		method: request.method ?? 'GET',
		baseURL: resolve(request.baseURL, data) as string,
		url: resolve(request.url, data) as string,
		qs: request.qs,
		headers: request.headers,
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
		json: true,
	};
	options = await context.credentials.authenticate(data, type.name, options);
	const res = (await context.ctx.helpers.httpRequest(options)) as {
		statusCode: number;
		body: unknown;
	};
	return { status: res.statusCode, body: res.body };
}
