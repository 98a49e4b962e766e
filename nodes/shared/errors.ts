import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { CampaignApiError } from '../../lib/campaign/client';
import { DataverseApiError } from '../../lib/dynamics/errors';
import { failureMessage } from '../../lib/flows/failure';
import { TransportError } from '../../lib/http/types';
import { SyncDataError, SyncSettingsError } from '../../lib/sync/errors';

/**
 * Turns what our libraries throw into n8n's two error kinds: `NodeOperationError` for settings
 * and data (naming the setting, record and field), `NodeApiError` for the services (keeping
 * their status, code and message), with the messages of `failureMessage`.
 */
export function toNodeError(
	node: INode,
	error: unknown,
	context: { itemIndex?: number; recordId?: string } = {},
): NodeApiError | NodeOperationError {
	if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
	if (error instanceof SyncSettingsError) {
		return new NodeOperationError(node, error.message, {
			itemIndex: context.itemIndex,
			description: error.description ?? (error.setting ? `Setting: ${error.setting}` : undefined),
		});
	}
	if (error instanceof SyncDataError) {
		return new NodeOperationError(node, error.message, {
			itemIndex: context.itemIndex,
			description: `Record ${error.recordId ?? '(unknown)'}, field "${error.field}"`,
		});
	}
	if (error instanceof DataverseApiError || error instanceof CampaignApiError) {
		return new NodeApiError(
			node,
			{ code: error.code, message: error.serviceMessage, status: error.status } as JsonObject,
			{
				itemIndex: context.itemIndex,
				httpCode: String(error.status),
				message: failureMessage(error, context.recordId),
				description: `Request: ${error.route}`,
			},
		);
	}
	if (error instanceof TransportError) {
		return new NodeApiError(node, { code: error.code, message: error.message } as JsonObject, {
			itemIndex: context.itemIndex,
			message: failureMessage(error, context.recordId),
		});
	}
	return new NodeOperationError(node, failureMessage(error, context.recordId), {
		itemIndex: context.itemIndex,
	});
}
