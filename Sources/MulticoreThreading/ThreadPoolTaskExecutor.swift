/// A thread pool is a Swift task executor (SE-0417): `Task(executorPreference: pool)`,
/// `group.addTask(executorPreference: pool)` and `withTaskExecutorPreference(pool)` run their
/// code on the pool's threads, beside the closures given to `submit`, in one queue.
///
/// A job is never lost: one that the pool refuses (it is shut down, or broken by its
/// initializer) or drops (`shutdown(cancelFutures: true)`) runs on Swift's global concurrent
/// executor instead, so a task that prefers a pool that has gone away still finishes.
extension ThreadPoolExecutor: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        let elsewhere: @Sendable () -> Void = { globalConcurrentExecutor.enqueue(job) }
        do {
            try core.enqueue(WorkItem(run: { _ in job.runSynchronously(on: executor) }, cancel: elsewhere,
                                      fail: { _ in elsewhere() }))
        } catch {
            elsewhere()
        }
    }
}
