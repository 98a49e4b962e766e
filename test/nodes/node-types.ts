import type { INodeType } from 'n8n-workflow';

import { DynamicsTrigger } from '../../nodes/DynamicsTrigger/DynamicsTrigger.node';

/** Every node of this package, by its type name. */
export function nodeTypes(): Record<string, INodeType> {
	return {
		dynamicsTrigger: new DynamicsTrigger(),
	};
}
