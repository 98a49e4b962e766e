/**
 * The Dynamics → Campaign template as the queue-mode test and benchmark publish it: unchanged but
 * for the contacts trigger's schedule and run size, so a load becomes many executions.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

import type { N8nApi, WorkflowDefinition } from '../n8n/api';
import type { Sandboxes } from '../index';
import { sandboxCredentialData } from '../n8n/sandbox-credentials';
import { workflowForApi, type WorkflowFile } from '../../test/support/n8n';

export const CONTACTS_TRIGGER = 'Contacts: Dynamics 365 Trigger';
const TEMPLATE = path.resolve(__dirname, '..', '..', 'templates', 'dynamics-to-campaign.json');

export interface LoadOptions {
	/** Seconds between polls of the contacts trigger (cron with seconds). */
	pollSeconds?: number;
	/** Records per execution. */
	maxRecordsPerRun?: number;
}

export function loadWorkflow(
	credentials: Record<string, { id: string; name: string }>,
	options: LoadOptions = {},
): WorkflowDefinition {
	const file = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as WorkflowFile;
	const size = options.maxRecordsPerRun ?? 1000;
	for (const node of file.nodes) {
		if (node.name !== CONTACTS_TRIGGER) continue;
		node.parameters.pollTimes = {
			item: [{ mode: 'custom', cronExpression: `*/${options.pollSeconds ?? 5} * * * * *` }],
		};
		node.parameters.options = { pageSize: size, maxRecordsPerRun: size };
	}
	return workflowForApi(file, credentials);
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
