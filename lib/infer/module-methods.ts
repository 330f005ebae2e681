/**
 * `model.createSession()` on every layer and model: added to Module here, beside the session code,
 * so the layers do not import the inference engine (which imports them).
 */
import { Module } from '../layers/module.js';
import { Session, type SessionOptions } from './session.js';

declare module '../layers/module.js' {
  interface Module {
    /**
     * A stateful session on this model: `await session.step(x)` consumes one time step and keeps
     * the (h, c) of every LSTM. Sessions of one model are batched into one kernel call per tick.
     * @throws TypeError for a model with a bidirectional LSTM or a layer that cannot be stepped
     */
    createSession(options?: SessionOptions): Session;
  }
}

Module.prototype.createSession = function createSession(this: Module, options?: SessionOptions): Session {
  return new Session(this, options);
};
