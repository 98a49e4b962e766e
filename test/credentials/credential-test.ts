/**
 * Runs a credential type's `test` request the way n8n's credential tester does: the request's
 * expressions resolved by n8n's own expression engine against the credential as entered (n8n
 * resolves the routing request before `preAuthentication` runs), then a fresh token from
 * `preAuthentication`, the `authenticate` headers, and the request sent with n8n-core's own
 * `httpRequest`.
 */
import {
	Workflow,
	type ICredentialDataDecryptedObject,
	type ICredentialType,
	type IHttpRequestOptions,
	type INode,
	type INodeTypes,
} from 'n8n-workflow';

import type { N8nTestContext } from '../unit/http/n8n-context';

const NODE: INode = {
	id: 'credential-test',
	name: 'Credential test',
	type: 'n8n-nodes-base.noOp',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
};

async function resolver(data: ICredentialDataDecryptedObject) {
	const nodeTypes = {
		getByName: () => ({ description: { properties: [] } }),
		getByNameAndVersion: () => ({ description: { properties: [] } }),
		getKnownTypes: () => ({}),
	} as unknown as INodeTypes;
	const workflow = new Workflow({ nodes: [NODE], connections: {}, active: false, nodeTypes });
	await workflow.expression.acquireIsolate?.();
	return {
		resolve: (value: unknown): unknown =>
			typeof value === 'string' && value.startsWith('=')
				? workflow.expression.getSimpleParameterValue(
						NODE,
						value,
						'internal',
						{ $credentials: data },
						undefined,
						'',
					)
				: value,
		release: async () => await workflow.expression.releaseIsolate?.(),
	};
}

/** One credential expression as n8n resolves it, e.g. a test request's `baseURL`. */
export async function resolveCredentialExpression(
	value: string,
	data: ICredentialDataDecryptedObject,
): Promise<unknown> {
	const { resolve, release } = await resolver(data);
	try {
		return resolve(value);
	} finally {
		await release();
	}
}

export async function runCredentialTest(
	type: ICredentialType,
	context: N8nTestContext,
): Promise<{ status: number; body: unknown }> {
	const stored: ICredentialDataDecryptedObject = context.credentials.getStored(type.name) ?? {};
	const request = type.test!.request;
	const { resolve, release } = await resolver(stored);
	let options: IHttpRequestOptions;
	try {
		options = {
			method: request.method ?? 'GET',
			baseURL: String(resolve(request.baseURL)),
			url: String(resolve(request.url)),
			qs: request.qs,
			headers: request.headers,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			json: true,
		};
	} finally {
		await release();
	}
	const token = await type.preAuthentication!.call({ helpers: context.ctx.helpers }, { ...stored });
	const data = { ...stored, ...token } as ICredentialDataDecryptedObject;
	options = await context.credentials.authenticate(data, type.name, options);
	const res = (await context.ctx.helpers.httpRequest(options)) as {
		statusCode: number;
		body: unknown;
	};
	return { status: res.statusCode, body: res.body };
}
