/**
 * The demo of the Dynamics → Campaign template (its contacts chain and the sandbox's loyalty-card
 * chain, every execution saved) as the queue-mode test and benchmark publish it. The schedule
 * stays as shipped (every minute: n8n refuses shorter poll intervals, with or without the durable
 * scheduler); publishing polls at once, so the first execution starts without waiting.
 */
import type { N8nApi, WorkflowDefinition } from '../n8n/api';
import type { Sandboxes } from '../index';
import { sandboxCredentialData } from '../n8n/sandbox-credentials';
import { loadDemo, withNodeParameters, workflowForApi } from '../n8n/templates';

export const CONTACTS_TRIGGER = 'Contacts: Dynamics 365 Trigger';
export const CARDS_TRIGGER = 'Loyalty Cards: Dynamics 365 Trigger';

export interface LoadOptions {
	/** Records per execution for both triggers; the template's own value when omitted. */
	maxRecordsPerRun?: number;
}

export function loadWorkflow(
	credentials: Record<string, { id: string; name: string }>,
	options: LoadOptions = {},
): WorkflowDefinition {
	let workflow = workflowForApi(loadDemo('dynamicsToCampaign'), credentials);
	const size = options.maxRecordsPerRun;
	if (size === undefined) return workflow;
	for (const trigger of [CONTACTS_TRIGGER, CARDS_TRIGGER]) {
		const current = workflow.nodes.find((node) => node.name === trigger)?.parameters.options;
		workflow = withNodeParameters(workflow, trigger, {
			options: { ...(current as object), maxRecordsPerRun: size },
		});
	}
	return workflow;
}

/** Creates both sandbox credentials in n8n; returns the references workflows link to. */
export async function createSandboxCredentials(
	api: N8nApi,
	sandbox: Sandboxes,
): Promise<Record<string, { id: string; name: string }>> {
	const data = sandboxCredentialData(sandbox);
	const linked: Record<string, { id: string; name: string }> = {};
	for (const type of ['dynamics365Api', 'adobeCampaignStandardApi'] as const) {
		const credential = await api.createCredential({
			name: `Sandbox ${type}`,
			type,
			data: data[type],
		});
		linked[type] = { id: credential.id, name: credential.name };
	}
	return linked;
}
