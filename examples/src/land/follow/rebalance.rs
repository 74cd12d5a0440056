//! The consumer's rebalance handler: forwards each assignment and revocation to the sink and
//! waits for its answer, so that a partition changes owner only after its ranges are settled.

use super::{Shared, StartOffsets, ToSink, lock};
use kafka_io::{RebalanceHandler, StartOffset, TopicPartition};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Asks the sink, and waits for its answer.
pub(super) struct Handler {
    pub(super) tx: mpsc::Sender<ToSink>,
    pub(super) shared: Arc<Shared>,
}

impl RebalanceHandler for Handler {
    fn assigned(
        &mut self,
        partitions: &[TopicPartition],
    ) -> std::result::Result<BTreeMap<TopicPartition, StartOffset>, String> {
        let with_epochs: Vec<_> = partitions
            .iter()
            .map(|tp| (tp.clone(), self.shared.epoch()))
            .collect();
        let (reply, answer) = std::sync::mpsc::sync_channel(1);
        self.tx
            .blocking_send(ToSink::Assigned {
                partitions: with_epochs.clone(),
                reply,
            })
            .map_err(|_| "the writer has stopped".to_owned())?;
        let next: StartOffsets = answer
            .recv()
            .map_err(|_| "the writer stopped during recovery".to_owned())??;
        let mut epochs = lock(&self.shared.epochs);
        for (tp, epoch) in with_epochs {
            epochs.insert(tp, epoch);
        }
        Ok(next
            .into_iter()
            .map(|(tp, n)| (tp, n.map_or(StartOffset::Earliest, StartOffset::Offset)))
            .collect())
    }

    fn revoked(&mut self, partitions: &[TopicPartition]) {
        {
            let mut epochs = lock(&self.shared.epochs);
            for tp in partitions {
                epochs.remove(tp);
            }
        }
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        if self
            .tx
            .blocking_send(ToSink::Revoked {
                partitions: partitions.to_vec(),
                reply,
            })
            .is_ok()
        {
            // Wait until the open ranges are settled: the next owner must not race them.
            let _ = done.recv();
        }
    }
}
