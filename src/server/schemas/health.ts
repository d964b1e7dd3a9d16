import { Type } from '@sinclair/typebox';
import { ModelStatusSchema } from './models.js';

export const HealthSchema = Type.Object({ status: Type.Literal('ok') }, { title: 'Health' });

export const ReadinessSchema = Type.Object(
  {
    ready: Type.Boolean(),
    models: Type.Array(
      Type.Object({
        name: Type.String(),
        status: ModelStatusSchema,
        version: Type.Union([Type.Integer(), Type.Null()], { description: 'The version serving now' }),
        error: Type.Optional(Type.String({ description: 'Why the last load failed' })),
      }),
    ),
  },
  { title: 'Readiness' },
);
