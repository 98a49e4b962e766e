import type { IDataObject, INodeExecutionData, IPollFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { ChainNode } from '../../lib/flows/trigger/chain';
import { REPLAY_REFUSED_ADVICE } from '../../lib/flows/trigger/replay';
import { readTriggerSettings } from '../../lib/flows/trigger/settings';
import {
	TRIGGER_STATE,
	WORKFLOW_BACKLOGS,
	recordWorkflowBacklog,
} from '../../lib/flows/trigger/state';
import { sampleRecords, triggerRead } from '../../lib/flows/trigger/trigger-read';
import { loadState, saveState } from '../../lib/state/store';
import { campaignClient, dataverseClient } from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { RUN_KEY } from '../../lib/flows/run-report';

/** The nodes after this trigger (n8n versions without `getChildNodes` give none). */
function chainOf(ctx: IPollFunctions): ChainNode[] {
	if (typeof ctx.getChildNodes !== 'function') return [];
	return ctx.getChildNodes(ctx.getNode().name, { includeNodeParameters: true }).map((n) => ({
		type: n.type.split('.').pop() ?? '',
		disabled: !!n.disabled,
		parameters: n.parameters ?? {},
	}));
}

/**
 * A failure the admin must see while the poll goes on: n8n records it as a failed execution and
 * runs the workflow's Error Workflow, as for a poll that throws. Where the n8n running the node
 * offers no such hook, the poll fails instead.
 */
function reportFailure(ctx: IPollFunctions, error: NodeOperationError): void {
	if (typeof ctx.__emitError !== 'function') throw error;
	ctx.__emitError(error);
}

const item = (json: object): INodeExecutionData => ({ json: json as IDataObject });

export async function poll(this: IPollFunctions): Promise<INodeExecutionData[][] | null> {
	try {
		const settings = readTriggerSettings((name, fallback, options) =>
			this.getNodeParameter(name, fallback, options),
		);
		const dataverse = await dataverseClient(this, { maxPageSize: settings.pageSize });
		if (this.getMode() === 'manual') {
			return [(await sampleRecords(dataverse, settings, chainOf(this))).map(item)];
		}
		const nodeData = this.getWorkflowStaticData('node');
		const workflowData = this.getWorkflowStaticData('global');
		const node = this.getNode().name;
		const run = await triggerRead(
			{
				settings,
				dataverse,
				campaign: async () => await campaignClient(this),
				chain: chainOf(this),
				node,
				budgetMs: typeof this.getPollBudgetMs === 'function' ? this.getPollBudgetMs() : undefined,
			},
			{
				state: loadState(nodeData, TRIGGER_STATE),
				backlogs: loadState(workflowData, WORKFLOW_BACKLOGS) ?? {},
			},
		);
		if (run.replayRefused) {
			// Reported once (the state remembers the request); the regular sync goes on.
			const description = REPLAY_REFUSED_ADVICE;
			reportFailure(
				this,
				new NodeOperationError(this.getNode(), run.replayRefused, { description }),
			);
		}
		saveState(nodeData, TRIGGER_STATE, run.state);
		recordWorkflowBacklog(workflowData, node, run.backlog);
		if (!run.report) return null;
		return [[...run.records.map(item), item({ [RUN_KEY]: run.report })]];
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
}
