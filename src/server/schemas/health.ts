import { Type } from '@sinclair/typebox';

export const HealthSchema = Type.Object({ status: Type.Literal('ok') }, { title: 'Health' });

export const ReadinessSchema = Type.Object(
  {
    ready: Type.Boolean(),
    models: Type.Array(
      Type.Object({
        name: Type.String(),
        version: Type.Union([Type.Integer(), Type.Null()], { description: 'The active version' }),
        ready: Type.Boolean({ description: 'Loaded and warmed' }),
        detail: Type.Optional(Type.String({ description: 'What is missing, when not ready' })),
      }),
    ),
    detail: Type.Optional(Type.String({ description: 'Why the server is not ready' })),
  },
  { title: 'Readiness' },
);
