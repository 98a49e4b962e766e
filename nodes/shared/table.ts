import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { InputRecord } from './items';

/** The node's Dynamics 365 Table: a resource locator, or the plain name of an older workflow. */
export function tableParameter(ctx: IExecuteFunctions): string {
	return String(ctx.getNodeParameter('table', 0, '', { extractValue: true }) ?? '').trim();
}

/** The node's table setting must be the table its records come from. */
export function checkTable(ctx: IExecuteFunctions, table: string, records: InputRecord[]): void {
	if (!table) {
		throw new NodeOperationError(ctx.getNode(), 'Choose the Dynamics 365 table', {
			description: 'The "Dynamics 365 Table" setting is empty.',
		});
	}
	const other = records.find((r) => r.record._sync.table !== table);
	if (other) {
		throw new NodeOperationError(
			ctx.getNode(),
			`Record ${other.record._sync.id} comes from table "${other.record._sync.table}", but this node is set to "${table}"`,
			{
				itemIndex: other.index,
				description:
					'Set "Dynamics 365 Table" to the table of the Dynamics 365 Trigger this chain starts from. Each table mapping is its own chain of nodes.',
			},
		);
	}
}
