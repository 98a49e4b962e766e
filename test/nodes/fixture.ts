/**
 * A node-test fixture: both sandboxes in-process, our nodes and credentials in n8n-core's engine,
 * the credentials pointing at the sandboxes exactly as a user would fill them in.
 */
import type { INode, INodeType } from 'n8n-workflow';

import { CampaignSandboxAdmin } from '../../sandbox/campaign/admin';
import { DataverseSandboxAdmin } from '../../sandbox/dataverse/admin';
import { startSandbox, type SandboxOptions, type Sandboxes } from '../../sandbox';
import {
	PACKAGE_NAME,
	TestCredentialsHelper,
	TestNodeTypes,
	TestWorkflow,
	type WorkflowJson,
} from '../../sandbox/harness/engine';
import { clearProcessCaches } from '../../nodes/shared/clients';
import { sandboxCredentials } from '../../sandbox/harness/credentials';
import { nodeTypes as packageNodeTypes } from '../../sandbox/harness/node-types';

export interface NodeFixture {
	sandboxes: Sandboxes;
	dataverse: DataverseSandboxAdmin;
	campaign: CampaignSandboxAdmin;
	credentials: TestCredentialsHelper;
	nodeTypes: TestNodeTypes;
	workflow(json: WorkflowJson): TestWorkflow;
	close(): Promise<void>;
}

export async function startNodeFixture(
	options: SandboxOptions = {},
	extraNodes: Record<string, INodeType> = {},
): Promise<NodeFixture> {
	const sandboxes = await startSandbox({
		dataverse: { port: 0, demoRecords: 20, ...(options.dataverse ?? {}) },
		campaign: { port: 0, ...(options.campaign ?? {}) },
	});
	const credentials = sandboxCredentials({
		dataverse: sandboxes.dataverse.url,
		campaign: sandboxes.campaign.url,
	});
	const nodeTypes = new TestNodeTypes({ ...packageNodeTypes(), ...extraNodes });
	return {
		sandboxes,
		dataverse: new DataverseSandboxAdmin(sandboxes.dataverse.url),
		campaign: new CampaignSandboxAdmin(sandboxes.campaign.url),
		credentials,
		nodeTypes,
		workflow: (json) => new TestWorkflow(json, nodeTypes, credentials),
		close: () => sandboxes.close(),
	};
}

/**
 * A fixture for the enclosing `describe`: started before its tests, closed after them, and
 * `reset` before each test (default: both sandboxes empty). The returned object is filled in
 * when the fixture has started.
 */
export function useNodeFixture(
	options: SandboxOptions = {},
	extraNodes: Record<string, INodeType> = {},
	reset: (fx: NodeFixture) => Promise<void> = async (fx) => {
		await fx.dataverse.reset({ demoRecords: 0 });
		await fx.campaign.reset({ profiles: 0 });
	},
): NodeFixture {
	const fx = {} as NodeFixture;
	beforeAll(async () => {
		Object.assign(fx, await startNodeFixture(options, extraNodes));
	});
	afterAll(async () => await fx.close?.());
	beforeEach(async () => {
		await reset(fx);
		// Reset services are new services to the nodes: nothing learnt in an earlier test applies.
		clearProcessCaches();
	});
	return fx;
}

let nodeCounter = 0;

/** A node of this package for a test workflow. */
export function node(
	type: string,
	name: string,
	parameters: INode['parameters'] = {},
	extra: Partial<INode> = {},
): INode {
	nodeCounter += 1;
	const credentials: INode['credentials'] = {};
	if (/dynamics|recordFilter|fieldReplacement|applyFieldMapping|emailEvents|optInOut/i.test(type)) {
		credentials.dynamics365Api = { id: '1', name: 'Dynamics 365 (sandbox)' };
	}
	if (/campaign|applyFieldMapping|emailEvents|optInOut/i.test(type)) {
		credentials.adobeCampaignStandardApi = { id: '2', name: 'Campaign (sandbox)' };
	}
	return {
		id: `node-${nodeCounter}`,
		name,
		type: type.includes('.') ? type : `${PACKAGE_NAME}.${type}`,
		typeVersion: 1,
		position: [nodeCounter * 200, 0],
		parameters,
		credentials,
		...extra,
	};
}

/** Connections for a straight chain of node names. */
export function chain(...names: string[]): WorkflowJson['connections'] {
	const connections: WorkflowJson['connections'] = {};
	for (let i = 0; i < names.length - 1; i++) {
		connections[names[i]] = { main: [[{ node: names[i + 1], type: 'main', index: 0 }]] };
	}
	return connections;
}
