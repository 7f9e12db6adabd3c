// What the apps use; the rest of the relay is its own business.
export { RelayModule } from './relay.module';
