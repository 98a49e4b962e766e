/** Exported workflows and templates become bodies the n8n public API accepts. */
import { WorkflowFile, workflowForApi } from '../support/n8n';

const template: WorkflowFile = {
	name: 'Dynamics to Campaign',
	id: 'abc',
	active: true,
	pinData: { Trigger: [] },
	meta: { instanceId: 'x' },
	tags: [],
	nodes: [
		{
			name: 'Trigger',
			type: 'n8n-nodes-dynamics-campaign.dynamicsTrigger',
			typeVersion: 1,
			position: [0, 0],
			parameters: {},
			credentials: { dynamics365Api: { id: 'REPLACE_ME', name: 'Dynamics' } },
		},
		{
			name: 'Upsert',
			type: 'n8n-nodes-dynamics-campaign.campaignUpsert',
			typeVersion: 1,
			position: [200, 0],
			parameters: {},
			credentials: { adobeCampaignStandardApi: { id: 'REPLACE_ME', name: 'Campaign' } },
		},
	],
	connections: { Trigger: { main: [[{ node: 'Upsert', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
};

describe('Workflow files for the n8n public API', () => {
	it('drops the fields the public API refuses and keeps the workflow itself', () => {
		const body = workflowForApi(template);
		expect(Object.keys(body).sort()).toEqual(['connections', 'name', 'nodes', 'settings']);
		expect(body.connections).toEqual(template.connections);
		expect(body.nodes.map((node) => node.name)).toEqual(['Trigger', 'Upsert']);
	});

	it('links each node to the credential created for its type', () => {
		const body = workflowForApi(template, {
			dynamics365Api: { id: 'd1', name: 'Sandbox Dynamics 365' },
		});
		expect(body.nodes[0].credentials).toEqual({
			dynamics365Api: { id: 'd1', name: 'Sandbox Dynamics 365' },
		});
		// Types without a created credential keep what the file says.
		expect(body.nodes[1].credentials).toEqual(template.nodes[1].credentials);
	});
});
