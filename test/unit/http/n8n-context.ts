/**
 * An n8n node context whose `helpers` are n8n-core's real request helpers (the same
 * `httpRequestWithAuthentication` that runs inside n8n: preAuthentication, authenticate, the
 * retry after a 401), over the in-memory credential store of the test harness.
 */
// not re-exported from the package root; the node contexts build their helpers with it
import { getRequestHelperFunctions } from 'n8n-core/dist/execution-engine/node-execution-context/utils/request-helpers';
import type {
	ICredentialDataDecryptedObject,
	ICredentialType,
	IExecuteFunctions,
	INode,
	IWorkflowExecuteAdditionalData,
	Workflow,
} from 'n8n-workflow';

import { TestCredentialsHelper } from '../../../sandbox/harness/engine';

export interface N8nTestContext {
	ctx: IExecuteFunctions;
	credentials: TestCredentialsHelper;
	/** How often the credential's preAuthentication ran (token requests). */
	tokenRuns(): number;
}

export interface N8nTestContextOptions {
	/**
	 * Behave like n8n 1.x's request helper (n8n-core 1.x, request-helper-functions.js
	 * `convertN8nRequestToAxios`): any truthy `ignoreHttpStatusErrors`, the `{ ignore, except }`
	 * form included, turns off status errors altogether, so a 401 comes back as an answer and n8n
	 * never refreshes the token. The rest is n8n-core's real helper.
	 */
	n8nV1StatusHandling?: boolean;
}

export function n8nTestContext(
	type: ICredentialType,
	data: ICredentialDataDecryptedObject,
	options: N8nTestContextOptions = {},
): N8nTestContext {
	const credentials = new TestCredentialsHelper([type]);
	credentials.setCredentials(type.name, data);
	const node: INode = {
		id: 'node-1',
		name: 'Test Node',
		type: 'n8n-nodes-dynamics-campaign.test',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
		credentials: { [type.name]: { id: 'cred-1', name: 'Test credential' } },
	};
	const additionalData = {
		credentialsHelper: credentials,
	} as unknown as IWorkflowExecuteAdditionalData;
	const helpers = getRequestHelperFunctions({} as Workflow, node, additionalData);
	if (options.n8nV1StatusHandling) {
		const current = helpers.httpRequestWithAuthentication;
		helpers.httpRequestWithAuthentication = async function (this: IExecuteFunctions, ...args) {
			const [credentialType, request, ...rest] = args;
			const v1Request = request.ignoreHttpStatusErrors
				? { ...request, ignoreHttpStatusErrors: true }
				: request;
			return await current.call(this, credentialType, v1Request, ...rest);
		};
	}
	const silent = () => undefined;
	const ctx = {
		helpers,
		getNode: () => node,
		logger: { debug: silent, info: silent, warn: silent, error: silent },
		getCredentials: async (name: string) =>
			await credentials.getDecrypted(
				additionalData,
				{ id: 'cred-1', name: 'Test credential' },
				name,
			),
	} as unknown as IExecuteFunctions;
	return {
		ctx,
		credentials,
		tokenRuns: () => credentials.preAuthenticationRuns.get(type.name) ?? 0,
	};
}
