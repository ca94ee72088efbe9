import { builder } from './builder.js';
import './task.js';
import './feed.js';
import './query.js';
import './mutation.js';
import './subscription.js';

export const schema = builder.toSchema({ sortSchema: false });
