import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	IPollFunctions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { TestCredentialsHelper, TestNodeTypes, TestWorkflow } from '../../sandbox/harness/engine';

/** A poller that counts its polls in static data, and a node that doubles a number. */
class CountingTrigger implements INodeType {
	description = {
		displayName: 'Counting Trigger',
		name: 'countingTrigger',
		group: ['trigger'],
		version: 1,
		description: '',
		defaults: { name: 'Counting Trigger' },
		polling: true,
		inputs: [],
		outputs: ['main'],
		properties: [],
	} as unknown as INodeType['description'];

	async poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
		const state = this.getWorkflowStaticData('node');
		state.polls = ((state.polls as number) ?? 0) + 1;
		return [[{ json: { n: state.polls as number } }]];
	}
}

class Doubler implements INodeType {
	description = {
		displayName: 'Doubler',
		name: 'doubler',
		group: ['transform'],
		version: 1,
		description: '',
		defaults: { name: 'Doubler' },
		inputs: ['main'],
		outputs: ['main', 'main'],
		properties: [],
	} as unknown as INodeType['description'];

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const ok: INodeExecutionData[] = [];
		const failed: INodeExecutionData[] = [];
		for (const [i, item] of this.getInputData().entries()) {
			const n = item.json.n as number;
			if (n > 1) {
				failed.push({
					json: { error: new NodeOperationError(this.getNode(), `too big: ${n}`).message },
					pairedItem: { item: i },
				});
			} else ok.push({ json: { n: n * 2 }, pairedItem: { item: i } });
		}
		return [ok, failed];
	}
}

describe('In-process n8n harness', () => {
	const nodeTypes = new TestNodeTypes({
		countingTrigger: new CountingTrigger(),
		doubler: new Doubler(),
	});
	const workflow = () =>
		new TestWorkflow(
			{
				nodes: [
					{
						id: '1',
						name: 'Trigger',
						type: 'n8n-nodes-dynamics-campaign.countingTrigger',
						typeVersion: 1,
						position: [0, 0],
						parameters: {},
					},
					{
						id: '2',
						name: 'Doubler',
						type: 'n8n-nodes-dynamics-campaign.doubler',
						typeVersion: 1,
						position: [200, 0],
						parameters: {},
					},
				],
				connections: { Trigger: { main: [[{ node: 'Doubler', type: 'main', index: 0 }]] } },
			},
			nodeTypes,
			new TestCredentialsHelper([]),
		);

	it('keeps the trigger static data between polls and runs the downstream node with n8n-core', async () => {
		const wf = workflow();
		const first = await wf.pollAndRun('Trigger');
		expect(first?.status).toBe('success');
		expect(first?.output('Doubler')).toEqual([{ n: 2 }]);
		const second = await wf.pollAndRun('Trigger');
		expect(second?.output('Doubler', 1)).toEqual([{ error: 'too big: 2' }]);
		expect(wf.staticData('Trigger').polls).toBe(2);
	});
});
