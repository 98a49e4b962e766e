import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { campaignWriteSettings, writeToCampaign } from '../../lib/flows/campaign-write';
import {
	campaignClient,
	learntCampaignConcurrency,
	rememberCampaignConcurrency,
} from '../shared/clients';
import { toNodeError } from '../shared/errors';
import { readSyncInput } from '../shared/items';
import { NodeOutput } from '../shared/outcomes';

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const settings = campaignWriteSettings((name, fallback) =>
		this.getNodeParameter(name, 0, fallback),
	);
	let written;
	try {
		written = await writeToCampaign(
			({ hooks, concurrency }) => campaignClient(this, hooks, { concurrency }),
			readSyncInput(this),
			settings,
			settings.adapt ? learntCampaignConcurrency(this) : undefined,
		);
	} catch (error) {
		throw toNodeError(this.getNode(), error);
	}
	if (written.learnt) rememberCampaignConcurrency(this, written.learnt);

	const output = new NodeOutput(this);
	let first: string | undefined;
	for (const { result, index } of written.results) {
		const json = result as unknown as IDataObject;
		if (result.outcome !== 'failed') {
			output.pass(json, index);
			continue;
		}
		first ??= result.error;
		const error = result.error ?? 'failed';
		output.fail(error, json, index, `${result.table} ${result.id}: ${result.error}`);
	}
	return output.finish(
		written.summary as unknown as IDataObject,
		written.summaryItems.map((item) => ({ item })),
		{
			total: written.results.length,
			what: 'record(s) could not be written to Campaign',
			tail: `; the others were written. First: ${first}`,
		},
	);
}
